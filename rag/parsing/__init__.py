"""Parsing source files into documents: format readers (``readers``) first, then the stages
that build the outline of each document."""
