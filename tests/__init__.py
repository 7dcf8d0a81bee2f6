"""Tests of the project as a whole: every URL of every app, every form of every app."""
