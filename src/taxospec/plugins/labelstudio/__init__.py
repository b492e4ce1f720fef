"""The Label Studio plugin: labeling configs, the export reader, and (later) the client and webhooks."""
