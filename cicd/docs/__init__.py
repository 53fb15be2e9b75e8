"""What the pipeline will look like, without deploying it: template previews and the pipeline diagram."""
