"""`secretsweep migrate`: move confirmed secrets into AWS Secrets Manager and rewrite the code to read them.

plan (pure: findings and file contents in, a MigrationPlan out), python_codemod and config_files
(rewriters), aws (a thin boto3 adapter) and apply (the journaled transaction).
"""
