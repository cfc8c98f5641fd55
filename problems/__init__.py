"""The runnable problem scripts (installed as ``femcm.problem_scripts``): one module per problem."""
