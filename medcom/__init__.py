"""medcom — performance analytics for county medical communities (医共体)."""

__version__ = "0.1.0"


def version_line() -> str:
    """`medcom --version`: medcom and the engines it runs on."""
    from importlib import metadata

    def v(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    try:
        own = metadata.version("medcom")
    except metadata.PackageNotFoundError:
        own = __version__
    return f"medcom {own} (duckdb {v('duckdb')}, dbt-core {v('dbt-core')}, python {_py()})"


def _py() -> str:
    import platform

    return platform.python_version()
