"""The dbt project, shipped with the package so `medcom build` works from any directory."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
