"""The policy gates on the synthesized JSON: checkov with declared suppressions, and the authorization gate."""
