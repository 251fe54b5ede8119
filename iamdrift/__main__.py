from iamdrift.cli import main

main()
