"""The managers' dashboard (`sesame dashboard`): figures from the ledger, each linked to its tickets."""
