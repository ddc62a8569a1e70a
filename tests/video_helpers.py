"""tus steps through the Flask test client, shared by the video tests; the real clients (tuspy, tus-js-client)
run in tests/test_video_clients.py."""
import base64

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def metadata(**values) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(client, account, episode_id: str, length: int, video_id: str = "clip1", **extra):
    meta = metadata(id=video_id, episode_id=episode_id, filename="clip.mp4", filetype="video/mp4", **extra)
    return client.post("/api/v1/uploads", headers={**account.headers, **TUS, "Upload-Length": str(length),
                                                   "Upload-Metadata": meta})


def patch(client, account, video_id: str, offset: int, data: bytes, **headers):
    return client.patch(f"/api/v1/uploads/{video_id}", data=data, headers={
        **account.headers, **TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS, **headers})


def head(client, account, video_id: str):
    return client.head(f"/api/v1/uploads/{video_id}", headers={**account.headers, **TUS})


def upload(client, account, episode_id: str, data: bytes, video_id: str = "clip1", chunk: int = 64 * 1024) -> None:
    """The whole file in PATCHes of `chunk` bytes; asserts every step."""
    created = create(client, account, episode_id, len(data), video_id)
    assert created.status_code == 201, created.get_json()
    for offset in range(0, len(data), chunk):
        answer = patch(client, account, video_id, offset, data[offset:offset + chunk])
        assert answer.status_code == 204, answer.get_json()
        assert answer.headers["Upload-Offset"] == str(min(offset + chunk, len(data)))


def process(app) -> str:
    """One pass of the scheduler's video job, as `flask videos process` runs it."""
    result = app.test_cli_runner().invoke(args=["videos", "process"])
    assert result.exit_code == 0, result.output
    return result.output


def new_episode(client, account, child_id: str) -> str:
    from tests.helpers import episode_body

    response = client.post(f"/api/v1/children/{child_id}/episodes", json=episode_body(), headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]
