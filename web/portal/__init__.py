"""The customer portal: the return form, the status page with its messages, the return label."""
