"""A test-only Django app that registers job kinds used to exercise the job system."""
