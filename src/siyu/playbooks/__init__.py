"""Playbooks: versionable YAML files that bundle calendar items, automation settings, FAQ entries and a timeline."""
