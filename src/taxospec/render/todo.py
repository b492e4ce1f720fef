"""The collection to-do list as a Markdown checklist, a CSV sheet, or JSON (schemas/todo.schema.json)."""

from __future__ import annotations

import csv
import io

from taxospec.todo import TodoItem, TodoList

CSV_COLUMNS = (
    "rank",
    "kind",
    "class",
    "role",
    "split",
    "conditions",
    "have",
    "need",
    "missing",
    "status",
    "instruction",
)


def render_todo_json(todo: TodoList) -> str:
    """The to-do list document."""
    return todo.model_dump_json(by_alias=True, indent=2) + "\n"


def render_todo_csv(todo: TodoList) -> str:
    """One row per item, in rank order; conditions as `axis=value; axis=value`. Opens in any spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in todo.items:
        writer.writerow(
            [
                item.rank,
                item.kind,
                item.class_name,
                item.role,
                item.split or "",
                _conditions(item, "; "),
                item.have,
                item.need,
                item.missing,
                item.status,
                item.instruction,
            ]
        )
    return out.getvalue()


def render_todo_markdown(todo: TodoList) -> str:
    """A checklist to paste into a tracker: one box per item, most important first."""
    c = todo.coverage
    lines = [
        f"# Collection to-do: {todo.spec_name}",
        "",
        f"From `{todo.export_path}`"
        + (f", split `{todo.split}`" if todo.split else "")
        + f". Coverage now: {c.quota_fill:.1%} of all quotas filled, {c.cells_covered:.1%} of the cells at quota"
        + (
            " (" + ", ".join(f"{split} {share:.1%}" for split, share in c.by_split.items()) + " within the splits)"
            if c.by_split
            else ""
        )
        + ".",
        "",
    ]
    if not todo.items:
        lines.append("Nothing to collect: every class meets its quotas.")
    total = sum(i.missing for i in todo.items)
    if todo.items:
        lines += [f"{len(todo.items)} item(s), {total} capture(s) in all:", ""]
    for item in todo.items:
        where = f" — `{_conditions(item, ', ')}`" if item.conditions else ""
        split = f" [{item.split}]" if item.split else ""
        lines.append(f"- [ ] **{item.instruction}**{split}{where} (have {item.have}, need {item.need}; {item.status})")
    if todo.budget is not None:
        b = todo.budget
        lines += [
            "",
            f"## Budget: {b.captures} capture(s)",
            "",
            f"{b.used} capture(s) raise coverage: quotas filled {b.quota_fill_before:.1%} → {b.quota_fill_after:.1%}, "
            f"cells at quota {b.cells_covered_before:.1%} → {b.cells_covered_after:.1%}.",
            "",
            "| captures | class | split | conditions |",
            "|---:|---|---|---|",
        ]
        for a in b.allocation:
            conditions = ", ".join(f"{k}={v}" for k, v in a.conditions.items()) or "any"
            lines.append(f"| {a.captures} | {a.class_name} | {a.split or 'train'} | {conditions} |")
    return "\n".join(lines) + "\n"


def _conditions(item: TodoItem, separator: str) -> str:
    return separator.join(f"{axis}={value}" for axis, value in item.conditions.items())
