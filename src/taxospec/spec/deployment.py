"""The spec's `deployment` section: samples of unlabeled media from where the model will run, which the
labeled data is measured against (coverage, scenarios, shift, picture quality), and how."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from taxospec.spec.types import SpecModel

SampleName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class DeploymentSample(SpecModel):
    """One sample of deployment media: a folder or glob of pictures, a Label Studio export of the production
    frames, or a live Label Studio project of them (its tasks' media; annotations, if any, are not read)."""

    name: SampleName
    """What the report calls it: the camera, the site, the capture run."""
    path: Annotated[str, StringConstraints(min_length=1)] | None = None
    """A folder (every picture under it) or a glob (`frames/**/*.jpg`), relative to the spec."""
    export: Annotated[str, StringConstraints(min_length=1)] | None = None
    """A Label Studio export (JSON) whose tasks are deployment frames, relative to the spec; their media
    are found where `taxospec check`'s media options say."""
    project: Annotated[int, Field(ge=1)] | None = None
    """A live Label Studio project whose tasks are deployment frames (exported on each run; the token from
    $LABEL_STUDIO_API_KEY); their media are found where `taxospec check`'s media options say."""
    url: Annotated[str, StringConstraints(min_length=1, pattern=r"^https?://")] | None = None
    """The Label Studio of `project` (default: $LABEL_STUDIO_URL)."""
    max_examples: Annotated[int, Field(ge=1, le=1_000_000)] = 5000
    """At most this many of its pictures are used, evenly spaced in name order."""

    @model_validator(mode="after")
    def _one_source(self) -> DeploymentSample:
        if sum(source is not None for source in (self.path, self.export, self.project)) != 1:
            raise ValueError("a deployment sample has exactly one of `path` (folder or glob), `export` and `project`")
        if self.url is not None and self.project is None:
            raise ValueError("`url` goes with `project` (the Label Studio the project is on)")
        return self


class DeploymentSpec(SpecModel):
    """Where the model will be deployed, by samples of its media, and how coverage is judged."""

    samples: tuple[DeploymentSample, ...]
    """The samples (cameras, sites, capture runs); each is reported on its own where it differs."""
    fence: Annotated[float, Field(gt=0.0, le=10.0)] = 1.5
    """A deployment picture is covered when its nearest labeled example is no farther than that class's
    upper Tukey fence (Q3 + fence × IQR) of the distances between its own examples and their nearest
    labeled neighbour: covered means "as close as the class's examples are to each other"."""
    min_scenario: Annotated[int, Field(ge=1, le=10_000)] = 3
    """Uncovered pictures that look alike form a scenario when there are at least this many of them."""
    pictures_per_scenario: Annotated[int, Field(ge=1, le=20)] = 4
    """Pictures shown for each scenario (in the report and on its to-do item)."""

    @model_validator(mode="after")
    def _distinct_names(self) -> DeploymentSpec:
        if not self.samples:
            raise ValueError("`deployment.samples` lists no sample (remove the section, or name a folder)")
        names = [sample.name for sample in self.samples]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"deployment samples need distinct names: {', '.join(twice)}")
        return self
