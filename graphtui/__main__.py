from graphtui.cli import main

raise SystemExit(main())
