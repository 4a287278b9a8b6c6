"""Tests for propgrad.baselines.concepts: ACE patches, ConceptSHAP, naming and TCAV.

The model is a tiny ConvMixer whose weights are set by hand: the features the
head reads are a monotone function of the mean red (channel 0), blue
(channel 1) and green (channel 2) of the picture, and the cat logit is
``red - blue``. The probing pictures are grey noise with a red or a blue
square, so the concepts to find, and their effect on the cat logit, are known.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("captum")
pytest.importorskip("sklearn")
pytest.importorskip("skimage")

from propgrad.baselines import (  # noqa: E402
    ConceptDiscovery,
    Patches,
    concept_completeness,
    concept_patches,
    concept_shap,
    discover_concepts,
    gradcam_layer,
    layer_activations,
    merge_duplicate_cavs,
    name_by_clip,
    name_by_properties,
    plot_concepts,
    shapley_values,
    tcav_scores,
)
from propgrad.models import create_classifier  # noqa: E402

torch.set_num_threads(1)

RED, BLUE = (230, 30, 30), (30, 30, 230)


def hand_model():
    """ConvMixer (dim 8, depth 1) with features f(red), f(blue), f(green) and cat = red - blue."""
    clf = create_classifier(
        "convmixer",
        2,
        image_size=16,
        dim=8,
        depth=1,
        kernel_size=3,
        patch_size=4,
        normalisation="unit",
        seed=0,
        class_names=("cat", "dog"),
    )
    m = clf.model
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        for bn in (m[2], m[3][0].fn[2], m[3][3]):  # batch norms: identity in eval mode
            bn.weight.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
        for channel, colour in ((0, 0), (1, 2), (2, 1)):  # red, blue, green means (+1)
            m[0].weight[channel, colour] = 1 / 16
            m[0].bias[channel] = 1.0
        m[3][1].weight.copy_(torch.eye(8)[:, :, None, None])  # pointwise conv: identity
        m[-1].weight[0, 0], m[-1].weight[0, 1] = 1.0, -1.0  # cat = red - blue
        m[-1].weight[1] = -m[-1].weight[0]
    return clf.eval()


def pictures(n: int, colours, seed: int = 0) -> np.ndarray:
    """Grey noise, each with an 8x8 square of the next colour (None: no square)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 16, 16, 3), np.uint8)
    for i in range(n):
        img = np.clip(rng.normal(128, 12, (16, 16, 1)), 0, 255).repeat(3, axis=2)
        colour = colours[i % len(colours)]
        if colour is not None:
            top, left = rng.integers(0, 8, 2)
            img[top : top + 8, left : left + 8] = colour
        out[i] = img.astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def model():
    return hand_model()


@pytest.fixture(scope="module")
def images():
    return pictures(24, [RED, BLUE])


@pytest.fixture(scope="module")
def patches(images):
    return concept_patches(images, n_segments=(3, 6), min_area=0.05)


@pytest.fixture(scope="module")
def discovery(model, patches):
    return discover_concepts(
        model, patches, n_clusters=4, min_cluster=3, target="cat", n_random=30, n_closest=6
    )


# ---------------------------------------------------------------------------
# patches and activations
# ---------------------------------------------------------------------------


def test_hand_model_prefers_red_for_cat(model, images):
    logits = model(model.preprocess.batch(images)).detach().numpy()
    assert (logits[0::2, 0] > 0.3).all() and (logits[1::2, 0] < -0.3).all()


def test_patches_have_shapes_owners_masks_and_boxes(images, patches):
    p = len(patches)
    assert patches.owners.shape == patches.segments.shape == (p,)
    assert patches.boxes.shape == (p, 4)
    assert set(patches.owners) == set(range(len(images)))  # every image gives patches
    assert patches.take([0, 1]).shape == (2, 16, 16, 3)
    assert patches.take([0]).dtype == np.uint8
    small = concept_patches(images[:3], n_segments=3, min_area=0.05, size=(12, 10))
    assert small.images.shape == (len(small), 12, 10, 3)
    for i in range(p):
        mask = patches.mask(i)
        top, left, bottom, right = patches.boxes[i]
        assert mask.sum() >= 0.05 * 256  # tiny superpixels dropped
        assert mask[top:bottom, left:right].sum() == mask.sum()  # the box holds the mask
        assert mask[top].any() and mask[bottom - 1].any()  # ... tightly
        assert mask[:, left].any() and mask[:, right - 1].any()


def test_patch_pictures_put_the_superpixel_on_grey():
    source = np.zeros((1, 16, 16, 3), np.uint8)
    source[0, :, :8], source[0, :, 8:] = RED, BLUE
    seg = np.zeros((1, 1, 16, 16), np.int16)
    seg[0, 0, 4:12, 4:12] = 1
    seg[0, 0, 4:8, 8:12] = 0  # an L-shaped superpixel: its box's top-right quarter is outside
    one = np.zeros(1, int)
    box = np.array([[4, 4, 12, 12]])
    patch = Patches(source, seg, one, one, one + 1, box, size=(8, 8), grey=0.5)
    picture = patch.take([0])[0].astype(int)
    assert (picture[:, :4] == RED).all()  # red left half of the box
    assert (picture[4:, 4:] == BLUE).all()  # blue bottom right
    assert (picture[:4, 4:] == 128).all()  # grey outside the superpixel
    resized = Patches(source, seg, one, one, one + 1, box, size=(16, 16), grey=0.5)
    assert resized.images.shape == (1, 16, 16, 3)
    assert (resized.images[0, 4:12, :4] == RED).all()


def test_overlapping_resolutions_are_deduplicated(images):
    once = concept_patches(images[:4], n_segments=6, min_area=0.05)
    twice = concept_patches(images[:4], n_segments=(6, 6), min_area=0.05)
    assert len(twice) == len(once)  # the second, identical segmentation is all duplicates
    kept = concept_patches(images[:4], n_segments=(6, 6), min_area=0.05, max_overlap=1.0)
    assert len(kept) == 2 * len(once)


def test_mean_of_maps_over_patches(images, patches):
    owners = patches.owners
    per_image = np.arange(len(images), dtype=float)[:, None, None] * np.ones((1, 16, 16))
    assert np.allclose(patches.mean_of(per_image), owners)
    redness = images[..., 0].astype(float)
    means = patches.mean_of(redness)
    for i in (0, len(patches) // 2, len(patches) - 1):
        assert means[i] == pytest.approx(redness[owners[i]][patches.mask(i)].mean())
    both = patches.mean_of(images.astype(float))
    assert both.shape == (len(patches), 3)
    assert np.allclose(both[:, 0], means)


def test_layer_activations_are_the_head_input_by_default(model, images):
    acts = layer_activations(model, images)
    assert acts.shape == (len(images), 8) and acts.dtype == np.float32
    with torch.no_grad():
        features = torch.nn.Sequential(*list(model.model)[:-1])  # all but the head
        expected = features(model.preprocess.batch(images)).numpy()
    assert np.allclose(acts, expected, atol=1e-5)
    # the last block, mean-pooled, is exactly what the head reads
    assert np.allclose(
        layer_activations(model, images, layer="3", batch_size=5), expected, atol=1e-5
    )
    assert layer_activations(model, images, layer=gradcam_layer(model)).shape == (len(images), 8)


def test_unknown_or_foreign_layers_are_refused(model, images):
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        layer_activations(model, images, layer="nope")
    with pytest.raises(ValueError, match="not a submodule"):
        layer_activations(model, images, layer=torch.nn.Linear(2, 2))


# ---------------------------------------------------------------------------
# completeness and Shapley values
# ---------------------------------------------------------------------------


def test_shapley_values_of_known_games():
    assert np.allclose(shapley_values(lambda s: len(s) ** 2, 3), [3.0, 3.0, 3.0])
    both = shapley_values(lambda s: float({0, 1} <= set(s)), 3)  # 0 and 1 only together
    assert np.allclose(both, [0.5, 0.5, 0.0])
    # sampled orderings: efficiency holds exactly, values close, reproducible
    game = lambda s: float(sum(s)) ** 1.5  # noqa: E731
    exact = shapley_values(game, 4)
    sampled = shapley_values(game, 4, exact_limit=0, n_permutations=400, seed=1)
    assert sampled.sum() == pytest.approx(game((0, 1, 2, 3)))
    assert np.allclose(sampled, exact, atol=0.3)
    again = shapley_values(game, 4, exact_limit=0, n_permutations=400, seed=1)
    assert np.array_equal(sampled, again)


def test_concept_shap_is_exact_on_a_hand_made_example():
    # two orthogonal features with equal variance, two CAVs along them
    x = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]) + [3.0, -2.0]
    cavs = np.eye(2)
    only_first = (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-3.0, 3.0]))  # class 0: x0 > 3
    result = concept_shap(x, cavs, only_first, target=0)
    assert np.allclose(result.values, [1.0, 0.0]) and result.completeness == pytest.approx(1.0)
    # accuracy completeness with labels given by the first feature
    labels = (x[:, 0] < 3.0).astype(int)
    result = concept_shap(x, cavs, only_first, labels=labels)
    assert np.allclose(result.values, [1.0, 0.0])
    # logit 2 x0 + x1: the concepts explain 4/5 and 1/5 of its variance
    weighted = (np.array([[2.0, 1.0], [-2.0, -1.0]]), np.zeros(2))
    assert np.allclose(concept_shap(x, cavs, weighted, target=0).values, [0.8, 0.2])
    assert concept_completeness(x, cavs, weighted, [1], target=0) == pytest.approx(0.2)
    assert concept_completeness(x, cavs, weighted, [], target=0) == 0.0
    # a torch.nn.Linear head works the same
    linear = torch.nn.Linear(2, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[2.0, 1.0], [-2.0, -1.0]]))
        linear.bias.zero_()
    assert np.allclose(concept_shap(x, cavs, linear, target=0).values, [0.8, 0.2])


def test_concept_shap_sums_to_the_completeness():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6))
    cavs = rng.normal(size=(4, 6))
    head = (rng.normal(size=(3, 6)), rng.normal(size=3))
    for kw in ({"target": 1}, {"labels": None}):
        result = concept_shap(x, cavs, head, **kw)
        assert result.values.sum() == pytest.approx(result.completeness)
        assert result.completeness == pytest.approx(concept_completeness(x, cavs, head, **kw))
    sampled = concept_shap(x, cavs, head, target=1, exact_limit=2, n_permutations=30)
    assert sampled.values.sum() == pytest.approx(sampled.completeness)


def test_completeness_refuses_a_head_no_better_than_chance():
    x = np.random.default_rng(0).normal(size=(10, 2))
    head = (np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 0.0]))  # always class 0
    with pytest.raises(ValueError, match="no better than"):
        concept_completeness(x, np.eye(2), head, labels=[0, 1] * 5)
    with pytest.raises(ValueError, match="4 labels for 10"):
        concept_completeness(x, np.eye(2), head, labels=[0, 1, 0, 1])


def test_duplicate_cavs_are_merged():
    cavs = np.array([[1.0, 0.0, 0.0], [0.99, 0.05, 0.0], [0.0, 1.0, 0.0]])
    kept, merged = merge_duplicate_cavs(cavs)
    assert kept.tolist() == [0, 2] and merged == {1: 0}
    kept, merged = merge_duplicate_cavs(cavs, priority=[1, 5, 0])  # the larger cluster stays
    assert kept.tolist() == [1, 2] and merged == {0: 1}
    kept, merged = merge_duplicate_cavs(cavs, threshold=0.9999)
    assert kept.tolist() == [0, 1, 2] and merged == {}


# ---------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------


def test_discovery_finds_the_red_and_blue_concepts(discovery, patches):
    d = discovery
    k = len(d)
    assert isinstance(d, ConceptDiscovery) and isinstance(d.patches, Patches)
    assert d.exact_head and d.target == 0
    assert d.cavs.shape == (k, 8) and np.allclose(np.linalg.norm(d.cavs, axis=1), 1.0)
    assert d.activations.shape == (len(patches), 8) and d.image_activations.shape == (24, 8)
    assert d.shap.sum() == pytest.approx(d.completeness)
    assert d.closest.shape == (k, 6) and d.closest_patches(0, 4).shape == (4, 16, 16, 3)
    assert d.scores().shape == (len(patches), k)
    assert np.all((d.cav_accuracy >= 0.5) & (d.cav_accuracy <= 1.0))
    members = np.concatenate(d.members)
    assert np.unique(members).size == members.size  # concepts do not share patches
    # the two concepts that drive the cat logit come first, each made of one colour
    colours = []
    for concept in d.top(2):
        medians = np.median(d.closest_patches(concept, 4).reshape(4, -1, 3), axis=1)
        colour = medians[0]
        assert np.abs(medians - colour).max() <= 2  # all its closest patches: one colour
        colours.append(tuple(int(c) for c in colour))
    assert sorted(colours) == sorted([RED, BLUE])
    assert d.shap[d.top(2)].min() > 3 * d.shap[d.order[2:]].max()  # and they dominate
    assert repr(d).startswith(f"ConceptDiscovery({k} concepts from {len(patches)} patches")
    assert (
        repr(patches)
        == f"Patches({len(patches)} patches of 24 images, 2 resolution(s), size=(16, 16))"
    )
    table = d.table()
    assert list(table.index) == list(range(1, k + 1))
    assert table["shap"].is_monotonic_decreasing


def test_discovery_importance_for_another_target(discovery):
    dog = discovery.importance("dog")
    cat = discovery.importance(0)
    assert np.allclose(cat.values, discovery.shap)
    assert np.allclose(dog.values, cat.values)  # dog = -cat: the same variance explained
    accuracy = discovery.importance(None)
    assert accuracy.values.sum() == pytest.approx(accuracy.completeness)
    with pytest.raises(ValueError, match="unknown class 'bird'"):
        discovery.importance("bird")


def test_discovery_at_other_layers(model, patches):
    common = {"n_clusters": 3, "min_cluster": 3, "n_random": 20, "target": 0}
    block = discover_concepts(model, patches, layer="3", **common)
    assert block.exact_head  # its pooled output is what the head reads
    with pytest.warns(UserWarning, match="linear probe"):
        conv = discover_concepts(model, patches, layer=gradcam_layer(model), **common)
    assert not conv.exact_head
    assert conv.shap.sum() == pytest.approx(conv.completeness)


def test_discovery_errors(model, images, patches):
    with pytest.raises(ValueError, match="2 labels for 24"):
        discover_concepts(model, patches, labels=[0, 1])
    with pytest.raises(ValueError, match="too few"):
        discover_concepts(model, patches, n_clusters=len(patches) + 1)
    with pytest.raises(ValueError, match="no cluster"):
        discover_concepts(model, patches, n_clusters=3, min_cluster=len(patches))
    with pytest.raises(ValueError, match="unknown layer"):
        discover_concepts(model, patches, n_clusters=3, layer="head")
    with pytest.raises(ValueError, match="unknown class 'bird'"):
        discover_concepts(model, patches, n_clusters=3, target="bird")


# ---------------------------------------------------------------------------
# naming
# ---------------------------------------------------------------------------


def test_name_by_properties(discovery, images, patches):
    scores = discovery.scores()
    noise = np.random.default_rng(0).normal(size=len(patches))
    names = name_by_properties(
        discovery, {"noise": noise, "up": 2 * scores[:, 0] + 1, "down": -scores[:, 1]}
    )
    assert len(names) == len(discovery)
    assert names[0].name == "up" and names[0].correlation == pytest.approx(1.0)
    assert names[1].name == "down" and names[1].correlation == pytest.approx(-1.0)
    # real properties: the red concept rises with "red minus blue", the blue one falls
    redness = patches.mean_of(images[..., 0].astype(float) - images[..., 2])
    brightness = patches.mean_of(images.mean(axis=-1))
    named = name_by_properties(discovery, {"red - blue": redness, "brightness": brightness})
    for concept in discovery.top(2):
        red = discovery.closest_patches(concept, 1)[0, 8, 8, 0] > 128
        assert named[concept].name == "red - blue"
        assert named[concept].correlation > 0.8 if red else named[concept].correlation < -0.8
    with pytest.raises(ValueError, match="3 values for"):
        name_by_properties(discovery, {"short": [1, 2, 3]})


def test_name_by_clip_with_a_tiny_random_clip(discovery):
    from propgrad.models.clip import load_clip, text_embeddings

    tiny = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16,
                       "patch_size": 16},
        "text_cfg": {"context_length": 12, "vocab_size": 49408, "width": 16, "heads": 2,
                     "layers": 1},
    }  # fmt: skip
    torch.manual_seed(0)
    clip = load_clip(model_cfg=tiny)
    words = ["cat", "dog", "red", "blue", "grass", "sky", "vehicle"]
    names = name_by_clip(discovery, clip, words, top_k=3, n_patches=4)
    assert len(names) == len(discovery)
    for name in names:
        assert len(name.closest) == 3 and set(name.closest) <= set(words)
        assert name.central in name.closest
        assert list(name.similarities) == sorted(name.similarities, reverse=True)
    assert name_by_clip(discovery, clip, words, top_k=3, n_patches=4) == names
    text = text_embeddings(clip.model, clip.tokenizer, words)
    again = name_by_clip(discovery, clip, words, top_k=3, n_patches=4, text_features=text)
    assert [n.closest for n in again] == [n.closest for n in names]
    with pytest.raises(ValueError, match="top_k"):
        name_by_clip(discovery, clip, words, top_k=8)


# ---------------------------------------------------------------------------
# TCAV and the figure
# ---------------------------------------------------------------------------


def test_tcav_scores_follow_the_hand_made_logit(model, images):
    concepts = {"red": pictures(8, [RED], seed=1), "blue": pictures(8, [BLUE], seed=2)}
    randoms = pictures(16, [None], seed=3)
    runs = tcav_scores(model, images[:8], concepts, randoms, n_runs=3, return_runs=True)
    assert set(runs) == {"red", "blue"} and runs["red"].shape == (3,)
    for values in runs.values():
        assert np.all((values >= 0.0) & (values <= 1.0))
    assert runs["red"].mean() > runs["blue"].mean()
    assert runs["red"].mean() == 1.0 and runs["blue"].mean() == 0.0  # red raises cat everywhere
    dog = tcav_scores(model, images[:8], concepts, randoms, target="dog", n_runs=2, batch_size=3)
    assert dog == {"red": 0.0, "blue": 1.0}
    with pytest.raises(ValueError, match="concepts is empty"):
        tcav_scores(model, images[:8], {}, randoms)


def test_plot_concepts(discovery):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"concept {k}" for k in range(len(discovery))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, axes = plot_concepts(discovery, top=2, n_patches=4, names=names)
    assert axes.shape == (2, 4)
    label = axes[0, 0].texts[0].get_text()
    top = discovery.top(1)[0]
    assert f"SHAP {discovery.shap[top]:.3f}" in label and f"concept {top}" in label
    plt.close(fig)
