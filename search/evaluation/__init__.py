"""After selection: retraining on train+validation, its evaluation on the test split, and the analyses of it."""
