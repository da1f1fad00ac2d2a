"""A local emulator of the parts of a Salesforce org the app uses (no Django imports)."""
