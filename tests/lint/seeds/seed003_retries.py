import fal
from fastapi.responses import JSONResponse


class MyApp(fal.App):
    skip_retry_conditions = ["timeout", "server_error"]
    request_timeout = 600  # 10 minutes per request
    startup_timeout = 600  # 10 minutes for setup

    @fal.endpoint("/")
    def run(self, input: Input) -> Output:
        try:
            result = self.model.run(input)
            return result
        except TransientError:
            return JSONResponse(
                status_code=500,
                headers={"X-Fal-Needs-Retry": "1"},
                content={"detail": "Transient error, please retry"},
            )
        except NonRetryableError:
            return JSONResponse(
                status_code=503,
                headers={"X-Fal-Needs-Retry": "0"},
                content={"detail": "Non-retryable error"},
            )
        except CorruptedStateError:
            return JSONResponse(
                status_code=500,
                headers={
                    "x-fal-stop-runner": "true",
                    "X-Fal-Needs-Retry": "1",
                },
                content={"detail": "Runner state corrupted, retrying on fresh runner"},
            )
