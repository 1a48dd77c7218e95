"""The train_model job kind (Train Deep Learning Model, issue 7): Django side of backend.engine.training.

Public API:
    jobkind.register() -> None                      registers ``train_model`` with apps.jobs
    params.TrainModelParams                         the params, declared once (apps.jobs.params.JobParams:
                                                    .clean(params, ctx) -> dict, InvalidInput "params.<field>: ...")
    services.run_training(ctx: JobContext) -> {"model", "metrics", "epochs_run", "best_epoch",
                                               "lr", "history"}
"""
