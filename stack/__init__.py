"""The CDKTF stack: one parameterized TerraformStack per region, one construct per concern.

Importing this package does not import cdktf; `stack.app` and the construct modules do.
"""
