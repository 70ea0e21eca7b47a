from ragkit.cli.main import main

raise SystemExit(main())
