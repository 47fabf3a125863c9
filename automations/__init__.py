"""The domain: requests, understanding, trust and policy, playbooks, ledger."""
