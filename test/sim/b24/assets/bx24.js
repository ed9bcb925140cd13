/*
 * BX24: the frame-side library an app page loads from the portal (Bitrix serves it at
 * //api.bitrix24.com/api/v1/). This one speaks the same parent protocol and keeps the functions
 * our pages use: init, install, installFinish, getAuth, refreshAuth, callMethod, callBatch,
 * callBind/callUnbind, fitWindow, resizeWindow, getScrollSize, setTitle, openApplication,
 * closeApplication, reloadWindow, openPath, placement.info/getInterface/call/bindEvent, isAdmin,
 * getLang, getDomain, ready. REST calls go to PROTOCOL://DOMAIN + PATH + /method.json.
 */
(function (window) {
  'use strict';
  if (window.BX24) return;

  var query = {};
  window.location.search
    .replace(/^\?/, '')
    .split('&')
    .forEach(function (pair) {
      if (!pair) return;
      var i = pair.indexOf('=');
      var k = decodeURIComponent(i < 0 ? pair : pair.slice(0, i));
      query[k] = i < 0 ? '' : decodeURIComponent(pair.slice(i + 1).replace(/\+/g, ' '));
    });

  var params = null;
  var appSid = query.APP_SID || '';
  var parentOrigin = (function () {
    try {
      return new URL((query.PROTOCOL === '1' ? 'https' : 'http') + '://' + query.DOMAIN).origin;
    } catch {
      return '*';
    }
  })();
  var callbacks = {};
  var seq = 0;
  var initQueue = [];
  var installQueue = [];
  var readyQueue = [];
  var initialized = false;
  var authExpiresAt = 0;

  function send(method, args, cb) {
    var id = '';
    if (cb) {
      id = 'cb' + ++seq + '_' + Math.random().toString(36).slice(2);
      callbacks[id] = cb;
    }
    var payload = args === undefined || args === null ? '' : JSON.stringify(args);
    window.parent.postMessage(method + ':' + payload + ':' + id + ':' + appSid, parentOrigin);
  }

  window.addEventListener('message', function (e) {
    if (parentOrigin !== '*' && e.origin !== parentOrigin) return;
    if (typeof e.data !== 'string') return;
    var i = e.data.indexOf(':');
    if (i < 0) return;
    var id = e.data.slice(0, i);
    var raw = e.data.slice(i + 1);
    var cb = callbacks[id];
    if (!cb) return;
    delete callbacks[id];
    var value;
    try {
      value = raw ? JSON.parse(raw) : undefined;
    } catch {
      value = raw;
    }
    cb(value);
  });

  function restUrl(method) {
    return (
      (Number(params.PROTOCOL) === 1 ? 'https' : 'http') +
      '://' +
      params.DOMAIN +
      params.PATH +
      '/' +
      method +
      '.json'
    );
  }

  function encode(value, prefix, out) {
    if (value === null || value === undefined) return out;
    if (typeof value === 'object') {
      Object.keys(value).forEach(function (k) {
        encode(value[k], prefix ? prefix + '[' + k + ']' : k, out);
      });
      return out;
    }
    out.push(
      encodeURIComponent(prefix) +
        '=' +
        encodeURIComponent(typeof value === 'boolean' ? (value ? 1 : 0) : value),
    );
    return out;
  }

  function AjaxResult(answer, status, query) {
    this.answer = answer;
    this.status = status;
    this.query = query;
  }
  AjaxResult.prototype.data = function () {
    return this.answer.result;
  };
  AjaxResult.prototype.error = function () {
    if (!this.answer.error) return false;
    var ex = { error: this.answer.error, error_description: this.answer.error_description };
    return {
      status: this.status,
      ex: ex,
      toString: function () {
        return ex.error + (ex.error_description ? ': ' + ex.error_description : '');
      },
    };
  };
  AjaxResult.prototype.error_description = function () {
    return this.answer.error_description;
  };
  AjaxResult.prototype.more = function () {
    return this.answer.next !== undefined;
  };
  AjaxResult.prototype.total = function () {
    return this.answer.total || 0;
  };
  AjaxResult.prototype.time = function () {
    return this.answer.time;
  };
  AjaxResult.prototype.next = function (cb) {
    if (!this.more()) return false;
    var q = this.query;
    var p = Object.assign({}, q.params, { start: this.answer.next });
    BX24.callMethod(q.method, p, cb || q.callback);
    return true;
  };

  function call(method, data, retried) {
    var body = encode(data || {}, '', []);
    body.push('auth=' + encodeURIComponent(params.AUTH_ID));
    return fetch(restUrl(method), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.join('&'),
    }).then(function (res) {
      return res
        .json()
        .catch(function () {
          return { error: 'ERROR_UNEXPECTED_ANSWER', error_description: 'Bad answer' };
        })
        .then(function (json) {
          if (res.status === 401 && json.error === 'expired_token' && !retried) {
            return new Promise(function (resolve) {
              BX24.refreshAuth(resolve);
            }).then(function () {
              return call(method, data, true);
            });
          }
          return { json: json, status: res.status };
        });
    });
  }

  // During installation the BX24.install handlers run and the init handlers wait for installFinish
  // (which reloads the page, so they never run in that load).
  var holdInit = false;
  // REST calls made before the init data arrived wait only for the data, not for installFinish.
  var dataQueue = [];
  function withParams(cb) {
    if (initialized) cb();
    else dataQueue.push(cb);
  }

  function onInit(data) {
    params = data;
    authExpiresAt = Date.now() + (Number(params.AUTH_EXPIRES) || 3600) * 1000;
    initialized = true;
    dataQueue.splice(0).forEach(function (cb) {
      cb();
    });
    if (params.INSTALL && installQueue.length > 0) {
      holdInit = true;
      installQueue.splice(0).forEach(function (cb) {
        cb();
      });
      return;
    }
    initQueue.splice(0).forEach(function (cb) {
      cb();
    });
  }

  var BX24 = {
    init: function (cb) {
      if (initialized && !holdInit) cb();
      else initQueue.push(cb);
    },
    install: function (cb) {
      if (typeof cb === 'function') installQueue.push(cb);
    },
    installFinish: function () {
      send('setInstallFinish', {});
    },
    ready: function (cb) {
      if (document.readyState !== 'loading') cb();
      else readyQueue.push(cb);
    },
    isAdmin: function () {
      return !!(params && params.IS_ADMIN);
    },
    getLang: function () {
      return params ? params.LANG : query.LANG;
    },
    getDomain: function () {
      return params ? params.DOMAIN : query.DOMAIN;
    },
    getAuth: function () {
      if (!params || Date.now() >= authExpiresAt) return false;
      return {
        access_token: params.AUTH_ID,
        refresh_token: params.REFRESH_ID,
        expires_in: params.AUTH_EXPIRES,
        domain: params.DOMAIN,
        member_id: params.MEMBER_ID,
      };
    },
    refreshAuth: function (cb) {
      send('refreshAuth', {}, function (data) {
        params.AUTH_ID = data.AUTH_ID;
        params.REFRESH_ID = data.REFRESH_ID;
        params.AUTH_EXPIRES = data.AUTH_EXPIRES;
        authExpiresAt = Date.now() + (Number(data.AUTH_EXPIRES) || 3600) * 1000;
        if (cb) cb(BX24.getAuth());
      });
    },
    callMethod: function (method, data, cb) {
      withParams(function () {
        call(method, data).then(function (r) {
          if (cb) cb(new AjaxResult(r.json, r.status, { method: method, params: data || {}, callback: cb }));
        });
      });
    },
    callBatch: function (calls, cb, haltOnError) {
      var isList = Array.isArray(calls);
      var cmd = isList ? [] : {};
      Object.keys(calls).forEach(function (key) {
        var c = calls[key];
        var method = Array.isArray(c) ? c[0] : c.method;
        var p = Array.isArray(c) ? c[1] : c.params;
        cmd[key] = method + '?' + encode(p || {}, '', []).join('&');
      });
      BX24.callMethod('batch', { halt: haltOnError ? 1 : 0, cmd: cmd }, function (res) {
        if (!cb) return;
        var data = res.data() || {};
        var out = isList ? [] : {};
        Object.keys(calls).forEach(function (key) {
          var answer = {};
          if (data.result && data.result[key] !== undefined) answer.result = data.result[key];
          if (data.result_error && data.result_error[key]) {
            answer.error = data.result_error[key].error;
            answer.error_description = data.result_error[key].error_description;
          }
          if (data.result_total && data.result_total[key] !== undefined)
            answer.total = data.result_total[key];
          if (data.result_next && data.result_next[key] !== undefined) answer.next = data.result_next[key];
          out[key] = new AjaxResult(answer, answer.error ? 400 : 200, { method: '', params: {} });
        });
        cb(out);
      });
    },
    callBind: function (event, handler, authType, cb) {
      BX24.callMethod('event.bind', { event: event, handler: handler, auth_type: authType || 0 }, cb);
    },
    callUnbind: function (event, handler, authType, cb) {
      BX24.callMethod('event.unbind', { event: event, handler: handler, auth_type: authType || 0 }, cb);
    },
    getScrollSize: function () {
      return {
        scrollWidth: document.documentElement.scrollWidth,
        scrollHeight: document.documentElement.scrollHeight,
      };
    },
    resizeWindow: function (width, height, cb) {
      send('resizeWindow', { width: width, height: height }, cb || function () {});
    },
    fitWindow: function (cb) {
      BX24.resizeWindow('100%', BX24.getScrollSize().scrollHeight, cb);
    },
    setTitle: function (title, cb) {
      send('setTitle', { title: String(title) }, cb || function () {});
    },
    scrollParentWindow: function (scroll, cb) {
      send('setScroll', { scroll: scroll }, cb || function () {});
    },
    openApplication: function (p, closeCb, settings) {
      var args = Object.assign({}, p || {});
      Object.keys(settings || {}).forEach(function (k) {
        args['bx24_' + k] = settings[k];
      });
      send('openApplication', args, closeCb || function () {});
    },
    closeApplication: function (cb) {
      send('closeApplication', {}, cb || function () {});
    },
    reloadWindow: function (cb) {
      send('reloadWindow', {}, cb);
    },
    openPath: function (path, cb) {
      send('openPath', { path: path }, cb || function () {});
    },
    placement: {
      info: function () {
        return { placement: params ? params.PLACEMENT : '', options: params ? params.PLACEMENT_OPTIONS : {} };
      },
      getInterface: function (cb) {
        send('getInterface', {}, cb);
      },
      call: function (command, data, cb) {
        send(command, data || {}, cb || function () {});
      },
      bindEvent: function (event, cb) {
        send('placementBindEvent', { event: event }, cb || function () {});
      },
    },
  };

  document.addEventListener('DOMContentLoaded', function () {
    var q = readyQueue;
    readyQueue = [];
    q.forEach(function (cb) {
      cb();
    });
  });

  window.BX24 = BX24;
  send('getInitData', {}, onInit);
})(window);
