"""SuperCoder agent: configuration, the LLM client, the pipeline and its front-ends."""
