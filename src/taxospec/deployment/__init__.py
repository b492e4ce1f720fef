"""The deployment sample and the unlabeled pool: media from where the model will run, and media nobody has
labeled yet, embedded through the same pipeline and cache as the labeled data and measured against it.

`sources` lists a sample's pictures; `embed` embeds them (`UnlabeledSpace`); `coverage` measures the
labeled data against the deployment sample (covered pictures, uncovered scenarios, shift); `describe` says
what pictures show by the spec's prompts (zero-shot); `pool` ranks the unlabeled pool by what labeling
each picture would fill (`taxospec todo --pool`).
"""
