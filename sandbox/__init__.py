"""Local emulators of the systems Sésame talks to (ServiceNow, Microsoft Graph, Active Directory).

A product feature, not test scaffolding: newcomers see Sésame work with them, operators rehearse
playbooks on them, tests and benchmarks drive them through the official client libraries.
Nothing here imports the rest of Sésame.
"""
