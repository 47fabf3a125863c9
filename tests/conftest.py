pytest_plugins = ["tests.fixtures.services", "tests.fixtures.fleet", "tests.fixtures.graph", "tests.fixtures.postgres"]
