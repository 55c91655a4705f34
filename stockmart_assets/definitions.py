"""stockmart's Dagster definitions: everything under ``defs/`` (one folder per stage), with the resources of
the environment (``environment.py``) and the executor every job runs on.

Runs execute in one process unless their run config asks for more (``execution: config: multiprocess:``). In
one process the quality checks of a run share one Spark session (started on first use, stopped when the run
ends); in the multiprocess executor every step is a process of its own, so every check step starts its own
Spark driver, while independent steps (e.g. several days' loads) run in parallel. Either way DuckDB is
written by one step at a time (``lib/warehouse/lock.py``).
"""

from pathlib import Path

import dagster as dg

from stockmart_assets.environment import build_resources

# Dagster's own choice of `multiprocess:` or `in_process:` (same config fields), with in-process as the default.
_EXECUTOR_MODES = dg.multi_or_in_process_executor.config_schema.as_field().config_type.fields


@dg.executor(
    name="in_process_or_multiprocess",
    config_schema=dg.Field(dg.Selector(dict(_EXECUTOR_MODES)), default_value={"in_process": {}}),
    requirements=lambda config: dg.multiple_process_executor_requirements() if "multiprocess" in config else [],
)
def in_process_or_multiprocess(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's multi_or_in_process_executor (same config), but in-process unless a run asks for processes."""
    return dg.multi_or_in_process_executor.executor_creation_fn(init_context)


def _stages() -> dg.Definitions:
    """Every Dagster object under ``defs/``: dg's component tree in a checkout (the dg project); the same modules
    through Dagster's package loader where the package is installed without its pyproject.toml (a container image).

    The tree is built at the defs folder rather than at its root (``load_from_defs_folder``), and not attached to
    the definitions: the root adds, and the attached tree's snapshot lists, every component type the installed
    integrations register, for dg's scaffolding, and finding them imports those integrations whole (dagster-gcp
    brings the BigQuery client and pandas), which more than doubles the time every process (the UI's code
    server, each run, each sensor tick) takes to load these definitions. The project declares no components,
    so the assets, checks, jobs, sensors and schedules are the same (``test_definitions.py``).

    The tree is made from the project's ``[tool.dg.project]`` as ``ComponentTree.for_project`` makes it, but read
    with the standard library's TOML reader: ``for_project`` reads it with tomlkit, a style-preserving TOML
    editor whose import alone takes longer than building all of stockmart's assets.
    """
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():
        import importlib
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dg"]["project"]
        tree = dg.ComponentTree(defs_module=importlib.import_module(project["defs_module"]), project_root=root,
                                code_location_name=project.get("code_location_name"))
        return tree.build_defs(tree.defs_module_path)
    import stockmart_assets.defs

    return dg.load_definitions_from_package_module(stockmart_assets.defs)


defs = dg.Definitions.merge(
    _stages(),
    dg.Definitions(resources=build_resources(), executor=in_process_or_multiprocess),
)
