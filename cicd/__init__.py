"""Workspace tooling that never imports cdktf: configuration, templates, previews, emulator, deploys."""
