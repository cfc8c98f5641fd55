"""Gmsh geometry builders (one function per geometry, named physical groups) and mesh data.

Installed as ``femcm.meshes``. Each builder module can be run alone to write a ``.msh``.
"""
