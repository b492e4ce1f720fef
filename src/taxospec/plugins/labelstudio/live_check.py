"""Re-check one task as it is saved: the checks whose findings depend on that task alone (`Check.local`),
merged with what the last batch run found that a single task cannot show (`task_findings.merged`)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from taxospec.plugins.labelstudio.config import LabelConfig
from taxospec.plugins.labelstudio.task_findings import Run, TaskFinding, by_task, merged, stored
from taxospec.plugins.labelstudio.task_view import region_ids
from taxospec.spec.model import Spec


@dataclass
class TaskChecker:
    """What re-checks single tasks of one project: its spec and labeling config."""

    spec: Spec
    config: LabelConfig
    _folder: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="taxospec-live-"), repr=False
    )

    @cached_property
    def local_codes(self) -> frozenset[str]:
        """The checks a live run runs."""
        from taxospec.plugins.registry import checks

        return frozenset(c.name for c in checks() if c.local)

    def live_findings(self, task: dict[str, Any]) -> list[TaskFinding]:
        """The local checks' findings on `task` (a task as the API gives it), as a live run now."""
        from taxospec.api import read_export
        from taxospec.checks.run import run_checks

        export = Path(self._folder.name) / f"task-{int(task['id'])}.json"
        export.write_text(json.dumps([task]), encoding="utf-8")
        try:
            dataset = read_export(self.spec, export, self.config)
            findings, _ = run_checks(dataset, select=set(self.local_codes))
        finally:
            export.unlink(missing_ok=True)
        return by_task(findings, Run.now("live")).get(int(task["id"]), [])

    def findings(self, task: Any) -> list[TaskFinding]:
        """The findings `task` (an SDK task) should carry now: the live ones, and the kept ones of the last
        batch run."""
        record = task.model_dump(mode="json") if hasattr(task, "model_dump") else dict(task)
        return merged(self.live_findings(record), stored(record), self.local_codes, region_ids(record))

    def close(self) -> None:
        """Remove the working folder."""
        self._folder.cleanup()
