"""Screens the viewer pushes over its main screen: help and search."""
