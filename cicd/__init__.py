"""Everything around the stack, one package per concern (README "Architecture"):

workspace  .env + templates -> typed, validated config (the only part the stack imports)
deploy     synth, terraform, state bucket, the deploy/failover/bootstrap CLI
emulator   the local AWS emulator, the main job that deploys into it, the blue/green rehearsal
policy     checkov and the authorization gate on the synthesized JSON
docs       template previews and the pipeline diagram
quality    mutation testing of the modules that carry the product's claims
"""
