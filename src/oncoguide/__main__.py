from oncoguide.cli import main

main()
