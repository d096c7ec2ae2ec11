"""The knowledge pack as FHIR R5 (5.0.0) resources: the treatment algorithm as CPG recommendation
definitions (PlanDefinition + ActivityDefinition), the sources as Citation and the computed statistics
as Evidence, all in one collection Bundle. Resources are plain dicts (JSON-ready)."""

from oncoguide.fhir.export import (
    CANONICAL_BASE,
    FHIR_VERSION,
    RESOURCE_TYPES,
    FhirExport,
    build_export,
    operation_outcome,
)

__all__ = ["CANONICAL_BASE", "FHIR_VERSION", "RESOURCE_TYPES", "FhirExport", "build_export", "operation_outcome"]
