"""The sandbox: run a candidate's tests in isolation and read their results exactly."""
