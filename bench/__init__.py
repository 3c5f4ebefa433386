"""DomainBench: fine-tuning benchmarks for domain adaptation. Its folders are the data path:

spec/        YAML -> validated config: TaskSpec, MatrixSpec -> Cells, the NAME:k=v syntax
data/        task -> clean, deterministic splits; long tail, domains, corpora, fingerprints
components/  the swappable parts, one registry + contract each: imbalance/, context/, methods, adapt, models
fit/         one cell -> predictions (transformer, probe, classical, keras) behind FITTERS; the only torch and keras
record/      the RunRecord (schema.py), its one writer and one folder reader (io.py), manifest, frame
run/         plan (ids once), worker (run_cell), executors, locks, progress, cost estimate
report/ gate/ perf/ cli/   leaderboards and plots; baseline + check; bench perf; the command line
leaves: errors, registry, metrics, hashing (ids, keys), store (cache root, the atomic writer)

Lower stages never import upper ones (tests/test_architecture.py).
"""

__version__ = "0.1.0"
