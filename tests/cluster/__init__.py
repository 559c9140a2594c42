"""The real-parts test harness: a Kubernetes control plane (etcd, kube-apiserver,
kube-controller-manager) built from source, a simulated node agent, and an MLflow server.

Importable as ``cluster`` with ``tests/`` on ``sys.path`` (tests/conftest.py arranges it);
``PYTHONPATH=tests python -m cluster up|down|status`` is the command-line entry point.
"""
