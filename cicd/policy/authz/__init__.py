"""The authorization gate: what moto cannot judge, judged with AWS's own data.

`grants` checks every role-policy grant against the Service Authorization Reference (`sar`);
`flows` lists the run-time calls made on the stack's behalf, which `simulate` evaluates with a real
policy engine against identity, trust and resource policies; `resolve` and `catalogue` read the
synthesized configuration (or an applied state) into the ARNs AWS would see; `gate` is the CLI.
Never imports cdktf or the .env reader.
"""
