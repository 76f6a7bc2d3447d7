"""`pinewatch serve`: not written yet."""


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="(not written yet)")
    parser.set_defaults(func=lambda args: print("not written yet") or 1)
