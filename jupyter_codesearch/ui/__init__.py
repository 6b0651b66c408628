"""UI: the %%search magic and the live widget (stage 5 of the pipeline)."""
