"""PRADA's own steps on real SciFact lists, each against an independent computation a random plan would not match.

* importance: the word order equals the order of the full-gradient row norms computed independently, through the
  KNRM module's own forward pass with its embedding matrix as the differentiated leaf (every batch of 20, the target
  scored with each);
* PGD: one step equals ``E[D] − α·G/‖G‖_F`` with the whole-matrix Frobenius norm (computed independently); a small
  step lowers each batch's loss, and the full PGD (3 steps per batch, α = 45) lowers the list loss;
* candidate choice: each word's substitute is the table neighbour whose mean piece embedding has the highest cosine
  with the word's perturbed embedding (numpy), and the perturbation changes at least one choice.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from irrobust.attacks import AttackContext, SynonymSwap, WordDoc
from irrobust.attacks.prada import PRADA, list_batches, pgd_alpha, pgd_rows, token_words

from .conftest import make_input

RANKS = (55, 98)


@pytest.fixture(scope="module")
def prada_setup(bm25_lists, table):
    """A surrogate trained from the BM25 ranking of three real queries, and PRADA inputs at ranks 55 and 98."""
    from irrobust.attacks.surrogate import train_surrogate

    lists = [(lst["query"], lst["texts"], lst["run_scores"]) for lst in bm25_lists]
    sur = train_surrogate(lists, seed=0, epochs=1)
    ctx = AttackContext(SynonymSwap(table), surrogate=sur)
    inputs = [make_input(lst, lst["run_scores"], r) for lst in bm25_lists for r in RANKS]
    return sur, ctx, inputs


def _ids(sur, inp):
    q = sur.query_tokens(inp.query)
    docs = [sur.doc_tokens(t)[0] for t in inp.list_texts]
    batches = [[docs[i] for i in b] for b in list_batches(len(docs), inp.target_index, 20)]
    return q, docs[inp.target_index], batches


def _module_loss(module, q_ids, d_ids, others):
    """The batch loss through the KNRM module's forward pass (independent of EmbeddingModel's code)."""
    import torch

    from irrobust.rankers.knrm import _pad

    seqs = [d_ids, *others]
    qs, qm = _pad([q_ids] * len(seqs))
    ds, dm = _pad(seqs)
    s = module(qs, qm, ds, dm)
    return torch.clamp(1.0 - s[0] + s[1:], min=0).sum()


def _full_gradient(sur, q_ids, d_ids, batches, table=None):
    """Dense ∂(Σ_b L_b)/∂E (vocab × dim) by autograd through a copy of the module with a trainable embedding."""
    import torch

    module = copy.deepcopy(sur.module)
    if table is not None:
        with torch.no_grad():
            module.embedding.weight.copy_(table)
    module.embedding.weight.requires_grad_(True)
    module.zero_grad(set_to_none=True)
    for others in batches:
        _module_loss(module, q_ids, d_ids, others).backward()
    return module.embedding.weight.grad.detach().clone()


def test_list_batches_follow_the_reference_loader():
    assert list_batches(100, 54, 20)[2] == [i for i in range(40, 60) if i != 54]
    assert sum(len(b) for b in list_batches(100, 54, 20)) == 99 and len(list_batches(100, 0, 20)) == 5
    assert pgd_alpha(45, 3) == 45.0


def test_importance_order_is_the_full_gradient_order(prada_setup):
    """Words in PRADA's order have non-increasing importance, and the importance of every eligible word equals
    the largest row norm of its pieces in the independently computed full gradient."""
    sur, ctx, inputs = prada_setup
    rec = PRADA()
    checked = 0
    for inp in inputs[::3]:
        imp, pieces = rec.importance(inp, ctx)
        q, d, batches = _ids(sur, inp)
        grad = _full_gradient(sur, q, d, batches)
        norms = grad.norm(dim=1).numpy()
        doc = WordDoc(inp.text)
        ids, offsets = sur.doc_tokens(inp.text)
        expected: dict[str, float] = {}
        for pid, wi in zip(ids, token_words(doc, offsets), strict=True):
            w = doc.words[wi].lower() if wi >= 0 else None
            if w in imp:
                expected[w] = max(expected.get(w, 0.0), float(norms[pid]))
        assert set(expected) == set(imp) and len(imp) >= 10
        ours = np.array([imp[w] for w in sorted(imp)])
        want = np.array([expected[w] for w in sorted(imp)])
        assert np.allclose(ours, want, rtol=1e-4, atol=1e-9)
        top = sorted(expected, key=lambda w: (-expected[w], w))[:10]
        plan_words = list(dict.fromkeys(doc.words[i].lower() for i, _ in rec.plan(inp, ctx)))
        assert plan_words == top  # the plan visits the 10 most important words, most important first
        checked += 1
    assert checked == 2


def test_importance_includes_the_other_documents_contributions(prada_setup):
    """The full gradient differs from the target-only one (other documents' scores as constants): the reference's
    importance is not the document-side gradient alone."""
    import torch

    sur, ctx, inputs = prada_setup
    inp = inputs[0]
    q, d, batches = _ids(sur, inp)
    full = _full_gradient(sur, q, d, batches)
    module = copy.deepcopy(sur.module)
    module.embedding.weight.requires_grad_(True)
    with torch.no_grad():
        other_scores = [sur.score(inp.query, [inp.list_texts[i]])[0] for b in list_batches(len(inp.list_texts),
                        inp.target_index, 20) for i in b]  # fmt: skip
    from irrobust.rankers.knrm import _pad

    qs, qm = _pad([q])
    ds, dm = _pad([d])
    s = module(qs, qm, ds, dm)[0]
    torch.clamp(1.0 - s + torch.tensor(other_scores, dtype=torch.float32), min=0).sum().backward()
    own = module.embedding.weight.grad
    shared = [p for p in set(d) if any(p in o for b in batches for o in b)]
    assert shared  # pieces of the document that other documents share
    diff = (full[shared] - own[shared]).norm(dim=1)
    assert float(diff.max()) > 1e-3 * float(full[shared].norm(dim=1).max())


def test_one_pgd_step_is_the_normalised_full_gradient_step(prada_setup):
    sur, ctx, inputs = prada_setup
    for inp in inputs[:3]:
        q, d, batches = _ids(sur, inp)
        doc_ids, rows = pgd_rows(sur, q, d, batches[:1], iters=1, alpha=2.0)
        grad = _full_gradient(sur, q, d, batches[:1])
        want = sur.table[doc_ids] - 2.0 * grad[doc_ids] / grad.norm()  # whole-matrix Frobenius norm
        assert np.allclose(rows.numpy(), want.numpy(), atol=1e-5)
        assert float(grad.norm()) > float(grad[doc_ids].norm()) * 1.001  # other rows carry gradient too


def _list_loss(sur, q, d, batches, ids, rows):
    """Σ_b L_b through the module's forward pass with rows ``ids`` of the embedding matrix replaced by ``rows``."""
    import torch

    table = sur.table.clone()
    table[torch.from_numpy(ids)] = rows
    module = copy.deepcopy(sur.module)
    with torch.no_grad():
        module.embedding.weight.copy_(table)
        return sum(float(_module_loss(module, q, d, b)) for b in batches)


def test_pgd_lowers_the_surrogate_loss(prada_setup):
    """A small step lowers every batch's loss; the full PGD (3 steps per batch, alpha 45) lowers the list loss."""

    sur, ctx, inputs = prada_setup
    for inp in inputs[1::3]:
        q, d, batches = _ids(sur, inp)
        doc_ids = np.unique(d)
        clean = _list_loss(sur, q, d, batches, doc_ids, sur.table[doc_ids])
        for b in batches:
            before = sur.list_hinge_grad(q, d, b)[2]
            ids, rows = pgd_rows(sur, q, d, [b], iters=1, alpha=0.05)
            assert sur.list_hinge_grad(q, d, b, rows=(ids, rows))[2] < before
        ids, rows = pgd_rows(sur, q, d, batches, iters=3, alpha=pgd_alpha(45.0, 3))
        assert _list_loss(sur, q, d, batches, ids, rows) < clean


def test_candidate_is_the_best_cosine_with_the_perturbed_embedding(prada_setup):
    import torch

    sur, ctx, inputs = prada_setup
    choices_differ = 0
    for inp in inputs[2::3]:
        rec = PRADA()
        imp, pieces = rec.importance(inp, ctx)
        plan = rec.plan(inp, ctx)
        doc = WordDoc(inp.text)
        chosen = {doc.words[i].lower(): c for i, c in plan}
        q, d, batches = _ids(sur, inp)
        doc_ids, rows = pgd_rows(sur, q, d, batches, iters=3, alpha=45.0)
        unperturbed = {doc.words[i].lower(): c for i, c in PRADA(pgd_eps=0.0).plan(inp, ctx)}
        several = 0
        for w, c in chosen.items():
            cands = ctx.swap.candidates(w)
            vec = rows[torch.from_numpy(np.searchsorted(doc_ids, pieces[w]))].mean(0).numpy()
            cvecs = np.stack([sur.word_embedding(x).numpy() for x in cands])
            cos = cvecs @ vec / (np.linalg.norm(cvecs, axis=1) * np.linalg.norm(vec))
            assert c == cands[int(np.argmax(cos))], (w, c, cands)
            several += len(set(np.round(cos, 6))) > 1
            choices_differ += unperturbed[w] != c
        assert several >= 5  # the choice is not forced: most words have candidates with different cosines
    assert choices_differ > 0  # the perturbation decides some choices (not just the nearest embedding)
