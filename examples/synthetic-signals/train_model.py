"""Train the demo's small CLIP (open_clip architecture `TaxospecSignals`, model/TaxospecSignals.json) on
rendered signal scenes with captions made from their parameters. CPU, a few minutes; deterministic.

    .venv/bin/python examples/synthetic-signals/train_model.py    # writes model/taxospec-signals.pt
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scenes import random_scene, render  # noqa: E402

EXAMPLES = 6000
EPOCHS = 12
BATCH = 128
SEED = 17


def main() -> None:
    import numpy as np
    import open_clip
    import torch
    from open_clip.loss import ClipLoss

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    open_clip.add_model_config(HERE / "model" / "TaxospecSignals.json")
    model, _, preprocess = open_clip.create_model_and_transforms("TaxospecSignals")
    tokenizer = open_clip.get_tokenizer("TaxospecSignals")
    rng = random.Random(SEED)
    scenes = [random_scene(rng) for _ in range(EXAMPLES)]
    images = torch.stack([preprocess(render(s)) for s in scenes])
    texts = tokenizer([s.caption() for s in scenes])
    loss_fn = ClipLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    steps = EPOCHS * (EXAMPLES // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    model.train()
    began = time.perf_counter()
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        order = torch.randperm(EXAMPLES, generator=generator)
        total = 0.0
        for start in range(0, EXAMPLES - BATCH + 1, BATCH):
            batch = order[start : start + BATCH]
            image_features, text_features, scale = model(images[batch], texts[batch])
            loss = loss_fn(image_features, text_features, scale)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss)
        print(
            f"epoch {epoch + 1}/{EPOCHS}: loss {total / (EXAMPLES // BATCH):.3f} ({time.perf_counter() - began:.0f} s)"
        )
    model.eval()
    with torch.no_grad():  # zero-shot accuracy on fresh scenes: the model has learned what it must
        test = [random_scene(random.Random(SEED + 1 + i)) for i in range(300)]
        feats = model.encode_image(torch.stack([preprocess(render(s)) for s in test]))
        feats = feats / feats.norm(dim=-1, keepdim=True)
        for name, values in (
            ("gesture", ("timeout", "waving", "clapping")),
            ("lighting", ("day", "night", "floodlight")),
        ):
            from scenes import PHRASES

            prompts = tokenizer(
                [f"a person {PHRASES[v]}" if name == "gesture" else f"a photo {PHRASES[v]}" for v in values]
            )
            t = model.encode_text(prompts)
            t = t / t.norm(dim=-1, keepdim=True)
            guess = (feats @ t.T).argmax(dim=1).numpy()
            truth = np.array([values.index(getattr(s, name)) for s in test])
            print(f"zero-shot {name} accuracy on fresh scenes: {(guess == truth).mean():.2f}")
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, HERE / "model" / "taxospec-signals.pt")
    print(f"wrote {HERE / 'model' / 'taxospec-signals.pt'}")


if __name__ == "__main__":
    main()
