from secretsweep.cli import main

raise SystemExit(main())
