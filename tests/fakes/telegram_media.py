"""Bot API methods of the Telegram stand-in for files: uploads, photos, documents, downloads."""

from __future__ import annotations

import contextlib

from aiohttp import ClientSession, ClientTimeout, web

from tests.fakes.telegram_core import TelegramCore
from tests.fakes.telegram_entities import Entity
from tests.fakes.telegram_models import (
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    JSON,
    UPLOAD_LIMIT,
    ApiError,
    FakeBot,
    FakeFile,
    Params,
    Upload,
    bad_request,
    guess_mime,
    image_size,
)


class TelegramMediaApi(TelegramCore):
    """sendPhoto, sendDocument, sendAnimation, getFile, getUserProfilePhotos."""

    async def _input_file(self, params: Params, name: str, kind: str) -> FakeFile | Upload:
        upload = params.uploads.get(name)
        value = params.get_str(name)
        if upload is None and value and value.startswith("attach://"):
            upload = params.uploads.get(value[len("attach://") :])
        if upload is not None:
            if len(upload.data) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.data:
                raise bad_request("file must be non-empty")
            return upload
        if not value:
            raise bad_request(f"there is no {name} in the request")
        if value.startswith(("http://", "https://")):
            try:
                async with (
                    ClientSession(timeout=ClientTimeout(total=5)) as session,
                    session.get(value) as resp,
                ):
                    if resp.status != 200:
                        raise bad_request("failed to get HTTP URL content")
                    data = await resp.read()
            except (OSError, TimeoutError) as exc:
                raise bad_request("failed to get HTTP URL content") from exc
            return Upload(data, value.rsplit("/", 1)[-1] or None, None)
        existing = self.files.get(value)
        if existing is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if existing.kind != kind:
            raise bad_request(
                f"can't use file of type {existing.kind.capitalize()} as {kind.capitalize()}"
            )
        return existing

    def _caption(self, params: Params) -> tuple[str | None, list[Entity]]:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        return caption, entities

    async def _send_photo(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "photo", "photo")
        if isinstance(source, FakeFile):
            sizes = [f for f in self.files.values() if f is source]
        else:
            sizes = self._store_photo(source.data)
        msg = self._bot_message(bot, chat, params)
        msg.photo = sizes
        msg.caption, msg.caption_entities = caption, entities
        msg.has_media_spoiler = params.get_bool("has_spoiler")
        self._notify()
        return msg.to_api()

    async def _send_document(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "document", "document")
        if isinstance(source, FakeFile):
            stored = source
        else:
            name = source.filename or "file"
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                mime = guess_mime(name)
            stored = self._store_file(source.data, "document", name, mime)
        msg = self._bot_message(bot, chat, params)
        msg.document = stored
        msg.caption, msg.caption_entities = caption, entities
        self._notify()
        return msg.to_api()

    async def _send_animation(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "animation", "document")
        if isinstance(source, FakeFile):
            stored = source
        else:
            name = source.filename or "animation.gif"
            stored = self._store_file(source.data, "document", name, guess_mime(name))
            with contextlib.suppress(ApiError):
                stored.width, stored.height = image_size(source.data)
        msg = self._bot_message(bot, chat, params)
        msg.animation = stored
        msg.caption, msg.caption_entities = caption, entities
        self._notify()
        return msg.to_api()

    async def _get_file(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        file_id = params.get_str("file_id")
        stored = self.files.get(file_id or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _get_user_profile_photos(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> JSON:
        user_id = params.get_int("user_id", required=True)
        if user_id not in self.users:
            raise bad_request("user not found")
        offset = params.get_int("offset") or 0
        limit = params.get_int("limit") or 100
        if not 1 <= limit <= 100:
            raise bad_request("limit must be between 1 and 100")
        photos = self.profile_photos.get(int(user_id or 0), [])
        return {
            "total_count": len(photos),
            "photos": [
                [f.photo_size() for f in sizes] for sizes in photos[offset : offset + limit]
            ],
        }
