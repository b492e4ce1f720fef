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
    "pictures",
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
                "; ".join(item.pictures),
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
        lines += [f"  - like `{_cell(picture)}`" for picture in item.pictures]
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
    if todo.label_next is not None:
        lines += _label_next(todo)
    return "\n".join(lines) + "\n"


def _label_next(todo: TodoList) -> list[str]:
    """The pool's pictures to label first, as a table."""
    lines = ["", f"## Label these next ({len(todo.label_next or [])} from the pool)", ""]
    if not todo.label_next:
        return [*lines, "No picture of the pool fills an open item."]
    lines += [
        "Each fills the items it names (their ranks above); what it looks like is the model's zero-shot guess.",
        "",
        "| # | picture | task | fills items | looks like | shows |",
        "|---:|---|---:|---|---|---|",
    ]
    for pick in todo.label_next:
        shows = ", ".join(f"{k}={v}" for k, v in pick.conditions.items())
        task = str(pick.task_id) if pick.task_id is not None else ""
        fills = ", ".join(f"#{r}" for r in pick.fills)
        lines.append(f"| {pick.rank} | `{_cell(pick.media)}` | {task} | {fills} | {pick.looks_like or ''} | {shows} |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _conditions(item: TodoItem, separator: str) -> str:
    return separator.join(f"{axis}={value}" for axis, value in item.conditions.items())
