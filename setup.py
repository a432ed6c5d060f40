"""The optional compiled core: built when a C compiler and Python's headers are present.

Everything else about the distribution is in pyproject.toml. `optional=True` makes a
failed build a warning: the install goes on, and flaskscope records with its pure-Python
engine (`flaskscope --version` says which engine is active).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("tracer._linecore", ["tracer/_linecore.c"], depends=["tracer/_corecommon.h"],
              optional=True),
    Extension("tracer._stepcore", ["tracer/_stepcore.c"], depends=["tracer/_corecommon.h"],
              optional=True),
])
