"""oncoguide serve: the web application and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from oncoguide.cli.common import fail
from oncoguide.cli.common import settings as current_settings

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (2 or more in production).", min=1, max=64)] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the web application and the JSON API (API docs at /docs)."""
    import uvicorn

    from oncoguide.kb import ensure_built
    from oncoguide.pack.load import PackError
    from oncoguide.web.cds_auth import ClientsFileError, load_clients
    from oncoguide.web.protocol import GuardedHttpToolsProtocol

    settings = current_settings()
    problem = settings.serving_problem()
    if problem:
        fail(problem, 1)
    try:
        ensure_built(settings)  # once, here, rather than racing in every worker
        if settings.cds_clients is not None:
            load_clients(settings.cds_clients)  # a broken file stops here, with the reason, not in each worker
    except (PackError, ClientsFileError) as exc:
        fail(str(exc), 1)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"oncoguide is serving on http://{shown}:{port}/  (API docs at /docs; Ctrl-C stops it)")
    # httptools with a head size limit and a deadline for the head (see web/protocol.py); the limits ride on
    # uvicorn's own config fields, which reach every worker process
    uvicorn.run(
        "oncoguide.web.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="warning",
        server_header=False,
        http=GuardedHttpToolsProtocol,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        timeout_keep_alive=settings.idle_timeout_seconds,
    )
