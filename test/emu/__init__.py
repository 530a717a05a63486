# SPDX-License-Identifier: ISC
"""The parts of the Microsoft Graph + identity platform emulator (test/graph_emulator.py).

The design document is the module docstring of test/graph_emulator.py (DESIGN, SCENARIO
FORMAT, CONTROL API, REALISM); its MODULES section says which module here holds which part.
test/graph_emulator.py combines the mixin classes into class Emulator and re-exports every
name the single-file emulator had.  Python 3 standard library only.
"""
